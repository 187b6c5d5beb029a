// Package index holds the inverted index of the storage engine: sorted postings
// lists and the set algebra on them, the evaluation of label matchers against any
// postings source (the in-memory head and on-disk blocks both satisfy
// [Source]), and the on-disk block index format ([Writer] and [Reader]).
//
// A postings list is a strictly increasing []uint64 of series references. Lists
// returned by a Source are shared and must be treated as read-only; the set
// functions never modify their inputs and always return a fresh slice (or one of
// their inputs unchanged, when that is the answer).
//
// The package imports no other argus package; it uses upstream model/labels for
// label sets and matchers.
package index
