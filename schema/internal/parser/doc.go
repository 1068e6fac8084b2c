// Package parser is a copy of github.com/goccy/go-yaml/parser at v1.19.2 (the version in go.mod),
// patched so that its cost stays linear in its input. Panka reads YAML from many teams'
// repositories, and the upstream parser is quadratic on some small inputs:
//
//   - a block mapping is parsed by one recursive call per key, each copying the rest of the
//     mapping (40,000 keys: 6 GB allocated); here it is a loop (upstream pull request #889);
//   - every node records its path from the root, copied from its parent's, so deep nesting and
//     long keys are quadratic (500 KB of "{a: " nesting: 19 GB); here no paths are built, and
//     the duplicate-key check that used them is left to the caller (package schema checks keys
//     while it walks the tree);
//   - nothing bounds nesting; here a document nesting more than MaxDepth levels is a *DepthError.
//
// Every other line is upstream's, so that `diff -r` against the module shows only the patches
// (and errors.go, which stands in for upstream's internal errors package). The AST types are
// upstream's. Delete this package once upstream ships equivalent fixes.
package parser
