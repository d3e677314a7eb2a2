// Package cliflag builds flag sets whose flags fall back to environment
// variables, so every flag of every Touchstream binary can be set either way
// (flags win). --help lists each flag with its variable.
package cliflag
