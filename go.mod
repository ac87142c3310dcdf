module nave

go 1.26
