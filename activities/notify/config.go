package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// EnvChannels is the environment variable the commands read the channel
// list from; DefaultChannels is what they use when it is unset.
const (
	EnvChannels     = "NOTIFY_CHANNELS"
	DefaultChannels = "log"
)

// Channel kinds.
const (
	KindLog     = "log"
	KindWebhook = "webhook"
	KindWeCom   = "wecom"
	KindFeishu  = "feishu"
	KindSlack   = "slack"
)

// Kinds lists the channel kinds ParseConfig knows.
var Kinds = []string{KindLog, KindWebhook, KindWeCom, KindFeishu, KindSlack}

// aliases are other names accepted for a kind.
var aliases = map[string]string{"lark": KindFeishu, "wechatwork": KindWeCom, "wxwork": KindWeCom}

// ChannelConfig is one configured channel.
type ChannelConfig struct {
	Kind string
	URL  string // empty for log
	// Secret is Feishu's signing secret, written in the URL's fragment:
	// feishu=https://open.feishu.cn/open-apis/bot/v2/hook/ID#secret=SECRET
	Secret string
}

// Config is the list of channels every notification goes to.
type Config struct {
	Channels []ChannelConfig
}

// ParseConfig reads a comma-separated channel list such as
//
//	log,webhook=https://hooks.example.com/dealflow,wecom=https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K,
//	feishu=https://open.feishu.cn/open-apis/bot/v2/hook/ID#secret=S,slack=https://hooks.slack.com/services/T/B/X
//
// Names are case-insensitive; "lark" is feishu. Every kind but log needs
// =URL (http or https); a URL cannot contain a comma (write %2C). The same
// channel twice is an error; two robots of one kind are fine. An empty
// string is an empty list.
func ParseConfig(s string) (Config, error) {
	var cfg Config
	var errs []error
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, raw, hasURL := strings.Cut(item, "=")
		kind := strings.ToLower(strings.TrimSpace(name))
		if a, ok := aliases[kind]; ok {
			kind = a
		}
		raw = strings.TrimSpace(raw)
		where := fmt.Sprintf("channel %d (%s)", i+1, strings.TrimSpace(name))
		if !slices.Contains(Kinds, kind) {
			errs = append(errs, fmt.Errorf("%s: unknown channel %q: use %s", where, name, strings.Join(Kinds, ", ")))
			continue
		}
		cc := ChannelConfig{Kind: kind}
		if kind == KindLog {
			if hasURL {
				errs = append(errs, fmt.Errorf("%s: log takes no URL", where))
				continue
			}
		} else {
			if !hasURL || raw == "" {
				errs = append(errs, fmt.Errorf("%s: %s needs a URL, written %s=<https URL>", where, kind, kind))
				continue
			}
			u, secret, err := parseURL(kind, raw)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			cc.URL, cc.Secret = u, secret
		}
		if slices.ContainsFunc(cfg.Channels, func(o ChannelConfig) bool { return o.Kind == cc.Kind && o.URL == cc.URL }) {
			errs = append(errs, fmt.Errorf("%s: %s is listed twice", where, redacted(cc)))
			continue
		}
		cfg.Channels = append(cfg.Channels, cc)
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("%s: %w", EnvChannels, errors.Join(errs...))
	}
	return cfg, nil
}

func parseURL(kind, raw string) (string, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("bad URL for %s: %v", kind, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", fmt.Errorf("bad URL for %s: %q is not an http(s) URL", kind, redactString(raw))
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("bad URL for %s: no host", kind)
	}
	var secret string
	if u.Fragment != "" {
		s, ok := strings.CutPrefix(u.Fragment, "secret=")
		if !ok || kind != KindFeishu || s == "" {
			return "", "", fmt.Errorf("bad URL for %s: the only fragment understood is #secret=SECRET, on feishu", kind)
		}
		secret = s
		u.Fragment, u.RawFragment = "", ""
	}
	return u.String(), secret, nil
}

// String lists the channels without their secrets (robot keys live in the
// URLs), for logs.
func (c Config) String() string {
	parts := make([]string, len(c.Channels))
	for i, cc := range c.Channels {
		parts[i] = redacted(cc)
	}
	return strings.Join(parts, ",")
}

func redacted(cc ChannelConfig) string {
	if cc.URL == "" {
		return cc.Kind
	}
	return cc.Kind + "=" + redactString(cc.URL)
}

// redactString keeps a URL's scheme and host only.
func redactString(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "…"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// Options are what building channels needs.
type Options struct {
	// Client sends the HTTP requests; nil means a client with Timeout.
	Client *http.Client
	// Timeout bounds one send when Client is nil (default DefaultTimeout).
	Timeout time.Duration
	// Logger is where the log channel writes (slog.Default() if nil).
	Logger *slog.Logger
}

// Build makes the configured channels.
func (c Config) Build(opts Options) []Channel {
	client := opts.Client
	if client == nil {
		timeout := opts.Timeout
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		client = &http.Client{Timeout: timeout}
	}
	out := make([]Channel, 0, len(c.Channels))
	for _, cc := range c.Channels {
		switch cc.Kind {
		case KindLog:
			out = append(out, NewLog(opts.Logger))
		case KindWebhook:
			out = append(out, NewWebhook(cc.URL, client))
		case KindWeCom:
			out = append(out, NewWeCom(cc.URL, client))
		case KindFeishu:
			out = append(out, NewFeishu(cc.URL, cc.Secret, client))
		case KindSlack:
			out = append(out, NewSlack(cc.URL, client))
		}
	}
	return out
}
