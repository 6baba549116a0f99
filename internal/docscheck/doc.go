// Package docscheck holds no code: its tests keep docs/operating.md, the
// operator's guide, true to the binary. Every `bot COMMAND` and flag the
// guide shows must exist, and its troubleshooting table must hold every
// message of the bot that tells the owner what to do, and nothing else,
// so that a message added, reworded or removed in the code fails the
// tests until the guide follows.
package docscheck
