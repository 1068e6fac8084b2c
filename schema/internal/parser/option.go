package parser

// Option represents parser's option.
//
// Panka patch: upstream's only option, AllowDuplicateMapKey, is gone: this parser never checks
// duplicate keys (see validateMapKey).
type Option func(p *parser)
