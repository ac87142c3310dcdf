// Package unit converts an NGINX Unit configuration (the JSON document
// Unit's control API serves at /config, or the whole of / with its
// "config" member) into a nave config.Config, and names every part it
// could not carry over, with its JSON path.
//
// The mapping (docs/config.md, "Coming from NGINX Unit"):
//
//   - each group of listeners that pass to the same place becomes a site
//     served on those listeners; "*:P" becomes 0.0.0.0:P, and "[::]:P"
//     beside a "*:P" of the same pass is folded into one dual-stack
//     listener;
//   - a route step becomes one nave route per alternative of its match
//     (Unit's arrays are "any of"); uri patterns become globs, which
//     match the whole path as Unit's do and mount nothing;
//   - share "DIR$uri" becomes root = DIR; pass to a python application,
//     proxy and upstreams become app and proxy routes; return with a
//     location becomes a redirect, without one a respond;
//   - a route whose match or rewrite nave cannot express is left out
//     whole, since keeping it without the condition would answer requests
//     Unit's did not; an option nave lacks on an action it can run (types,
//     fallback, a process model) is dropped and the route kept.
//
// It imports config for the model and nothing that serves.
package unit
