module nave

go 1.26.0

require golang.org/x/crypto v0.59.0

require (
	github.com/pelletier/go-toml/v2 v2.4.3
	golang.org/x/net v0.63.0
)

require golang.org/x/text v0.44.0 // indirect
