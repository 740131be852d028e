"""Pure rules: no I/O, no clock reads, no database. Everything here is a function of its inputs."""
