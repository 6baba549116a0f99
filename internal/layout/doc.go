// Package layout holds no code: its test checks the rules of how the
// packages of the module may depend on each other (README, "How the code
// is arranged"), so that a shortcut across them fails in CI rather than in
// review.
package layout
