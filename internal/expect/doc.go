// Package expect compares the reports with the answers a generated world
// computes for itself (generate.Expected): counts exactly, rates, durations
// and KPIs to a relative 1e-9. `touchstream demo` and the end-to-end tests
// both check the pipeline with it, so they hold it to the same standard.
package expect
