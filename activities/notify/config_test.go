package notify_test

import (
	"strings"
	"testing"

	"dealflow/activities/notify"
)

func TestParseConfig(t *testing.T) {
	cfg, err := notify.ParseConfig(" log, webhook=https://hooks.example.com/df ,WeCom=https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K1," +
		"lark=https://open.feishu.cn/open-apis/bot/v2/hook/ID#secret=S2,slack=https://hooks.slack.com/services/T/B/X," +
		"wecom=https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K2,")
	if err != nil {
		t.Fatal(err)
	}
	want := []notify.ChannelConfig{
		{Kind: "log"},
		{Kind: "webhook", URL: "https://hooks.example.com/df"},
		{Kind: "wecom", URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K1"},
		{Kind: "feishu", URL: "https://open.feishu.cn/open-apis/bot/v2/hook/ID", Secret: "S2"},
		{Kind: "slack", URL: "https://hooks.slack.com/services/T/B/X"},
		{Kind: "wecom", URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K2"},
	}
	if len(cfg.Channels) != len(want) {
		t.Fatalf("channels %+v", cfg.Channels)
	}
	for i := range want {
		if cfg.Channels[i] != want[i] {
			t.Errorf("channel %d = %+v, want %+v", i, cfg.Channels[i], want[i])
		}
	}
	s := cfg.String()
	for _, secret := range []string{"K1", "K2", "S2", "/T/B/X", "/df"} {
		if strings.Contains(s, secret) {
			t.Errorf("String() = %q leaks %q", s, secret)
		}
	}
	chans := cfg.Build(notify.Options{})
	names := map[string]bool{}
	for _, c := range chans {
		names[c.Name()] = true
	}
	if len(chans) != 6 || len(names) != 6 {
		t.Errorf("built %d channels with %d distinct names", len(chans), len(names))
	}

	empty, err := notify.ParseConfig("  ")
	if err != nil || len(empty.Channels) != 0 {
		t.Errorf("empty config: %+v, %v", empty, err)
	}
	def, err := notify.ParseConfig(notify.DefaultChannels)
	if err != nil || len(def.Channels) != 1 || def.Channels[0].Kind != "log" {
		t.Errorf("default config: %+v, %v", def, err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for in, want := range map[string]string{
		"log,email=smtp://x":                  `unknown channel "email"`,
		"webhook":                             "webhook needs a URL",
		"slack=":                              "slack needs a URL",
		"log=https://x":                       "log takes no URL",
		"webhook=ftp://example.com/x":         "not an http(s) URL",
		"webhook=https:///nohost":             "no host",
		"webhook=http://[::1":                 "bad URL",
		"wecom=https://x/?key=1#secret=s":     "#secret=SECRET, on feishu",
		"feishu=https://x/hook#token=s":       "#secret=SECRET",
		"log,log":                             "listed twice",
		"slack=https://a/b,slack=https://a/b": "listed twice",
		"bogus,webhook":                       "channel 1 (bogus)",
	} {
		_, err := notify.ParseConfig(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig(%q) = %v, want an error containing %q", in, err, want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), notify.EnvChannels) {
			t.Errorf("error %q does not name %s", err, notify.EnvChannels)
		}
	}
	// Several problems are reported at once.
	_, err := notify.ParseConfig("bogus,webhook")
	if err == nil || !strings.Contains(err.Error(), "bogus") || !strings.Contains(err.Error(), "webhook needs a URL") {
		t.Errorf("both problems not reported: %v", err)
	}
}
