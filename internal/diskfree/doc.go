// Package diskfree reports the space left on the file system holding a
// path, for the disk check of 'bot health'. Each platform asks its own
// system call; where there is none, Available says so.
package diskfree
