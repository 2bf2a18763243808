package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"dealflow/activities/store"
)

// Outbox is what the relay needs from the store (*store.Store has it).
type Outbox interface {
	ClaimNotifications(ctx context.Context, limit int, lease time.Duration) ([]store.Notification, error)
	MarkDelivered(ctx context.Context, id int64) error
	MarkChannelsDone(ctx context.Context, id int64, channels []string) error
	MarkFailed(ctx context.Context, id int64, cause error, nextAttempt time.Time) error
	ReleaseNotifications(ctx context.Context, ids []int64) error
}

// RelayConfig tunes a Relay; zero fields take the defaults.
type RelayConfig struct {
	// PollInterval is how often an idle relay looks for due rows (1s).
	PollInterval time.Duration
	// BatchSize is how many rows one claim takes (20).
	BatchSize int
	// BaseBackoff and MaxBackoff shape the retry delay after the n-th failed
	// attempt (n from 0): BaseBackoff·2^n, at most MaxBackoff (5s, 1h).
	// After store.MaxDeliveryAttempts failures the store gives up.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// SendTimeout bounds one send to one channel (DefaultTimeout).
	SendTimeout time.Duration
	// LinkBase, when set, gives every message a link to its deal:
	// LinkBase + "/deals/" + id.
	LinkBase string
	Logger   *slog.Logger
}

// Relay delivers the outbox: it claims due notifications, sends each to
// every channel it has not yet reached, and marks it delivered, or failed
// with the next attempt time. Several relays (one per worker) can share one
// outbox: claims are leased, so each notification goes out once per channel
// unless a relay dies mid-send.
type Relay struct {
	outbox   Outbox
	channels []Channel
	cfg      RelayConfig
	log      *slog.Logger
}

// NewRelay returns a relay sending to channels (at least one, unique names).
func NewRelay(outbox Outbox, channels []Channel, cfg RelayConfig) (*Relay, error) {
	if outbox == nil {
		return nil, errors.New("notify: relay needs an outbox")
	}
	if len(channels) == 0 {
		return nil, fmt.Errorf("notify: no notification channels configured; set %s (e.g. %q)", EnvChannels, DefaultChannels)
	}
	var names []string
	for _, c := range channels {
		if slices.Contains(names, c.Name()) {
			return nil, fmt.Errorf("notify: channel %s configured twice", c.Name())
		}
		names = append(names, c.Name())
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 20
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultTimeout
	}
	cfg.LinkBase = strings.TrimRight(cfg.LinkBase, "/")
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Relay{outbox: outbox, channels: channels, cfg: cfg, log: log.With("component", "notify")}, nil
}

// Backoff is the delay after the attempts-th failed attempt (counting from
// 0): base·2^attempts, capped at maxDelay.
func Backoff(attempts int, base, maxDelay time.Duration) time.Duration {
	d := base
	for range attempts {
		if d >= maxDelay/2 {
			return maxDelay
		}
		d *= 2
	}
	return min(d, maxDelay)
}

// lease is how long a claimed batch is ours: long enough to send every row
// of it to every channel with the full timeout, plus a margin.
func (r *Relay) lease() time.Duration {
	return time.Duration(r.cfg.BatchSize*len(r.channels))*r.cfg.SendTimeout + time.Minute
}

// Run delivers notifications until ctx is cancelled, then returns nil. A
// send under way when ctx ends is finished (within SendTimeout) and
// recorded; claimed rows not yet started are released for the next relay.
// Store errors (the database is down) are logged and retried.
func (r *Relay) Run(ctx context.Context) error {
	r.log.Info("notification relay started", "channels", r.channelNames(), "poll", r.cfg.PollInterval)
	defer r.log.Info("notification relay stopped")
	idle := r.cfg.PollInterval
	for {
		n, err := r.RunOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.log.Warn("claiming notifications failed; retrying", "err", err, "in", idle)
			idle = min(idle*2, 30*time.Second)
		default:
			idle = r.cfg.PollInterval
			if n == r.cfg.BatchSize {
				continue // a full batch: more may be due
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(idle):
		}
	}
}

// RunOnce claims one batch and delivers it; it returns how many it claimed.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	batch, err := r.outbox.ClaimNotifications(ctx, r.cfg.BatchSize, r.lease())
	if err != nil {
		return 0, err
	}
	for i, n := range batch {
		if ctx.Err() != nil {
			r.release(ctx, batch[i:])
			break
		}
		r.deliver(ctx, n)
	}
	return len(batch), nil
}

// detached bounds work that must finish even though ctx was cancelled.
func detached(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

func (r *Relay) release(ctx context.Context, rest []store.Notification) {
	ids := make([]int64, len(rest))
	for i, n := range rest {
		ids[i] = n.ID
	}
	rctx, cancel := detached(ctx, 5*time.Second)
	defer cancel()
	if err := r.outbox.ReleaseNotifications(rctx, ids); err != nil {
		r.log.Warn("releasing claimed notifications failed; they come due when their lease ends", "err", err, "ids", ids)
	}
}

// deliver sends n to the channels it has not reached and records the result.
func (r *Relay) deliver(ctx context.Context, n store.Notification) {
	msg := r.message(n)
	var done []string
	var retryErrs, permErrs []error
	for _, ch := range r.channels {
		if slices.Contains(n.ChannelsDone, ch.Name()) {
			continue
		}
		sctx, cancel := detached(ctx, r.cfg.SendTimeout)
		err := ch.Send(sctx, msg)
		cancel()
		switch {
		case err == nil:
			done = append(done, ch.Name())
		case IsPermanent(err):
			done = append(done, ch.Name()) // retrying cannot help
			permErrs = append(permErrs, err)
		default:
			retryErrs = append(retryErrs, err)
		}
	}
	mctx, cancel := detached(ctx, 10*time.Second)
	defer cancel()
	log := r.log.With("notification", n.ID, "deal", n.DealID, "seq", n.Seq, "recipient", n.Recipient)
	var err error
	switch {
	case len(retryErrs) == 0 && len(permErrs) == 0:
		err = r.outbox.MarkDelivered(mctx, n.ID)
	case len(retryErrs) == 0:
		cause := errors.Join(permErrs...)
		log.Error("notification failed permanently", "err", cause)
		err = r.outbox.MarkFailed(mctx, n.ID, cause, time.Time{})
	default:
		if len(done) > 0 {
			if err = r.outbox.MarkChannelsDone(mctx, n.ID, done); err != nil {
				break
			}
		}
		cause := errors.Join(append(retryErrs, permErrs...)...)
		delay := Backoff(n.Attempts, r.cfg.BaseBackoff, r.cfg.MaxBackoff)
		if n.Attempts+1 >= store.MaxDeliveryAttempts {
			log.Error("notification failed; giving up", "err", cause, "attempts", n.Attempts+1)
		} else {
			log.Warn("notification failed; will retry", "err", cause, "attempt", n.Attempts+1, "in", delay)
		}
		err = r.outbox.MarkFailed(mctx, n.ID, cause, time.Now().Add(delay))
	}
	if err != nil {
		log.Error("recording a delivery result failed; the notification comes due again when its lease ends", "err", err)
	}
}

func (r *Relay) message(n store.Notification) Message {
	m := Message{Recipient: n.Recipient, DealID: n.DealID, DealName: n.Payload.DealName,
		Customer: n.Payload.Customer, Milestone: n.Payload.Milestone, Kind: n.Kind, Text: n.Message, At: n.Payload.At}
	if r.cfg.LinkBase != "" && n.Payload.Link != "" {
		m.Link = r.cfg.LinkBase + n.Payload.Link
	} else if r.cfg.LinkBase != "" {
		m.Link = r.cfg.LinkBase + "/deals/" + url.PathEscape(n.DealID)
	}
	return m
}

func (r *Relay) channelNames() []string {
	out := make([]string, len(r.channels))
	for i, c := range r.channels {
		out[i] = c.Name()
	}
	return out
}
