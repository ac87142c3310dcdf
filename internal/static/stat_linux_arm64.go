package static

import "syscall"

const sysFstatat = syscall.SYS_FSTATAT
