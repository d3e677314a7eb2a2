package channel

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed data/*.txt
var dataFS embed.FS

// The site lists, read once from data/*.txt. They never change after that.
var (
	searchSites   = mustList("search.txt")
	socialSites   = mustList("social.txt")
	videoSites    = mustList("video.txt")
	shoppingSites = mustList("shopping.txt")
	emailSites    = mustList("email.txt")
	ignoredSites  = mustList("ignore.txt")
)

// list is a set of sources and hosts (syntax in data/search.txt).
type list struct {
	exact   map[string]struct{} // bare source names and hosts
	names   map[string]struct{} // "name.*": name under any public suffix
	exclude []string            // "!host": the host and its subdomains never match
}

func mustList(file string) *list {
	data, err := dataFS.ReadFile("data/" + file)
	if err != nil {
		panic(fmt.Sprintf("channel: %v", err))
	}
	l, err := parseList(string(data))
	if err != nil {
		panic(fmt.Sprintf("channel: data/%s: %v", file, err))
	}
	return l
}

// parseList reads one entry a line; blank lines and "#" comments are skipped.
func parseList(data string) (*list, error) {
	l := &list{exact: map[string]struct{}{}, names: map[string]struct{}{}}
	for n, line := range strings.Split(data, "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		line = strings.ToLower(strings.TrimSpace(line))
		switch {
		case line == "":
		case strings.HasPrefix(line, "!"):
			host := strings.TrimSpace(line[1:])
			if host == "" || strings.ContainsAny(host, "* ") {
				return nil, fmt.Errorf("line %d: %q: want !host", n+1, line)
			}
			l.exclude = append(l.exclude, host)
		case strings.HasSuffix(line, ".*"):
			name := strings.TrimSuffix(line, ".*")
			if name == "" || strings.ContainsAny(name, ".* ") {
				return nil, fmt.Errorf("line %d: %q: want name.* with a name without dots", n+1, line)
			}
			l.names[name] = struct{}{}
		case strings.Contains(line, "*"):
			return nil, fmt.Errorf("line %d: %q: * is allowed only as name.*", n+1, line)
		default:
			l.exact[line] = struct{}{}
		}
	}
	return l, nil
}

// match reports whether s, a lower-case source or host, is on the list.
func (l *list) match(s string) bool {
	if s == "" {
		return false
	}
	for _, x := range l.exclude {
		if isDomainOf(s, x) {
			return false
		}
	}
	if _, ok := l.exact[s]; ok {
		return true
	}
	// A host entry covers its subdomains: l.facebook.com matches facebook.com.
	for i := 0; i < len(s); i++ {
		if s[i] != '.' {
			continue
		}
		suffix := s[i+1:]
		if strings.IndexByte(suffix, '.') < 0 {
			break // a bare name ("com") is never a host entry
		}
		if _, ok := l.exact[suffix]; ok {
			return true
		}
	}
	if len(l.names) == 0 || strings.IndexByte(s, '.') < 0 {
		return false
	}
	labels := strings.Split(s, ".")
	for i := 0; i < len(labels)-1; i++ {
		if _, ok := l.names[labels[i]]; ok && isPublicSuffix(labels[i+1:]) {
			return true
		}
	}
	return false
}

// isDomainOf reports whether host is domain or a subdomain of it.
func isDomainOf(host, domain string) bool {
	if !strings.HasSuffix(host, domain) {
		return false
	}
	n := len(host) - len(domain)
	return n == 0 || host[n-1] == '.'
}

// Second-level labels under which country domains register names
// (google.co.uk, yandex.com.tr, yahoo.co.jp).
var secondLevel = map[string]bool{
	"co": true, "com": true, "net": true, "org": true, "gov": true, "edu": true,
	"ac": true, "ne": true, "or": true, "go": true, "gob": true, "mil": true,
	"nom": true, "ltd": true, "plc": true, "sch": true, "gen": true, "biz": true,
	"info": true, "web": true,
}

// isPublicSuffix approximates the public suffix list for the name.* entries:
// one top-level label (com, de, io), or a country's second level (co.uk,
// com.au).
func isPublicSuffix(labels []string) bool {
	switch len(labels) {
	case 1:
		return isLetters(labels[0]) && len(labels[0]) >= 2
	case 2:
		return secondLevel[labels[0]] && len(labels[1]) == 2 && isLetters(labels[1])
	}
	return false
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return s != ""
}
