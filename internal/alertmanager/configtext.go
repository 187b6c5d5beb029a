package alertmanager

import (
	"gopkg.in/yaml.v3"
)

// secretMark is how Alertmanager prints a secret.
const secretMark = "<secret>"

// secretURL replaces a secret webhook url. Alertmanager 0.35 prints
// <secret> there, but for amtools up to 0.25 (Debian's) a webhook url is a
// plain URL and <secret> fails to load ("unsupported scheme"); a URL under
// the reserved .invalid domain loads in both and reaches nothing.
const secretURL = "https://secret.invalid/"

// redactOriginal returns the configuration text as the user wrote it, with
// every value that Alertmanager's own printing (marshaled) hides replaced
// by <secret>. /api/v2/status serves this rather than the marshaled form
// because the marshaled form lists every default of this Alertmanager
// version, and older amtools (Debian's) refuse keys they do not know when
// `amtool config routes` loads it back. If the two texts cannot be walked
// side by side, the marshaled form is returned: it is always safe.
func redactOriginal(original, marshaled string) string {
	if original == "" {
		return marshaled
	}
	var orig, mar yaml.Node
	if yaml.Unmarshal([]byte(original), &orig) != nil || yaml.Unmarshal([]byte(marshaled), &mar) != nil {
		return marshaled
	}
	if !redactNode(&orig, &mar) {
		return marshaled
	}
	out, err := yaml.Marshal(&orig)
	if err != nil {
		return marshaled
	}
	return string(out)
}

// redactNode replaces scalars of orig by <secret> where mar has <secret>
// at the same place. It returns false when orig has a secret-looking place
// it cannot align, so that nothing secret leaks.
func redactNode(orig, mar *yaml.Node) bool {
	for orig.Kind == yaml.AliasNode && orig.Alias != nil {
		orig = orig.Alias
	}
	if mar.Kind == yaml.ScalarNode && mar.Value == secretMark {
		if orig.Kind != yaml.ScalarNode {
			return false
		}
		*orig = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: secretMark}
		return true
	}
	switch orig.Kind {
	case yaml.DocumentNode:
		if mar.Kind != yaml.DocumentNode || len(orig.Content) != len(mar.Content) {
			return len(orig.Content) == 0
		}
		for i := range orig.Content {
			if !redactNode(orig.Content[i], mar.Content[i]) {
				return false
			}
		}
	case yaml.MappingNode:
		if mar.Kind != yaml.MappingNode {
			return false
		}
		for i := 0; i+1 < len(orig.Content); i += 2 {
			key := orig.Content[i].Value
			if key == "<<" {
				return false // merge keys cannot be aligned; play safe
			}
			found := false
			for j := 0; j+1 < len(mar.Content); j += 2 {
				if mar.Content[j].Value == key {
					found = true
					if !redactNode(orig.Content[i+1], mar.Content[j+1]) {
						return false
					}
					if v := orig.Content[i+1]; key == "url" && v.Kind == yaml.ScalarNode && v.Value == secretMark {
						v.Value = secretURL
					}
					break
				}
			}
			if !found && !isPlainSetting(orig.Content[i+1]) {
				return false
			}
		}
	case yaml.SequenceNode:
		if mar.Kind != yaml.SequenceNode || len(mar.Content) != len(orig.Content) {
			return false
		}
		for i := range orig.Content {
			if !redactNode(orig.Content[i], mar.Content[i]) {
				return false
			}
		}
	}
	return true
}

// isPlainSetting reports whether a value the marshaled form does not have
// (an empty or null setting) is harmless to print.
func isPlainSetting(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value == "" || n.Tag == "!!null"
	case yaml.MappingNode, yaml.SequenceNode:
		return len(n.Content) == 0
	}
	return false
}
