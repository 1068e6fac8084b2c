package parser

import (
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/token"
)

// errors stands in for goccy/go-yaml's internal/errors package, which cannot be imported from
// outside that module, so that the copied code reads as upstream does. It returns the same
// *yaml.SyntaxError values as the upstream parser.
var errors syntaxErrors

type syntaxErrors struct{}

func (syntaxErrors) ErrSyntax(msg string, tk *token.Token) *yaml.SyntaxError {
	return &yaml.SyntaxError{Message: msg, Token: tk}
}
