package console

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// bar is one row of a horizontal bar chart.
type bar struct {
	Label string
	Value float64
	// Text is the value as shown beside the bar.
	Text string
	// Target, when HasTarget, is drawn as a tick across the bar's row.
	Target    float64
	HasTarget bool
	// Behind colours the bar as falling short.
	Behind bool
}

// Chart geometry, in SVG user units.
const (
	chartWidth  = 560
	labelWidth  = 170
	barArea     = 290
	rowHeight   = 28
	barHeight   = 16
	chartMargin = 8
)

// barChart renders bars as an inline SVG: one row a bar, the longest value
// or target filling the width, targets as dark ticks. Every piece of text
// is escaped; the numbers are ours. A chart of nothing says so.
func barChart(title string, bars []bar) template.HTML {
	if len(bars) == 0 {
		return template.HTML(`<p class="empty">` + html.EscapeString(title) + `: nothing to chart yet.</p>`)
	}
	maxV := 0.0
	for _, b := range bars {
		maxV = math.Max(maxV, finite(b.Value))
		if b.HasTarget {
			maxV = math.Max(maxV, finite(b.Target))
		}
	}
	if maxV <= 0 {
		maxV = 1
	}
	height := len(bars)*rowHeight + 2*chartMargin
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		chartWidth, height, chartWidth, height, html.EscapeString(title))
	for i, b := range bars {
		y := chartMargin + i*rowHeight
		w := math.Max(0, finite(b.Value)) / maxV * barArea
		class := "bar"
		if b.Behind {
			class = "bar behind"
		}
		fmt.Fprintf(&sb, `<g><text class="label" x="%d" y="%d">%s</text>`, labelWidth-6, y+barHeight-3, html.EscapeString(b.Label))
		fmt.Fprintf(&sb, `<rect class="track" x="%d" y="%d" width="%d" height="%d"/>`, labelWidth, y, barArea, barHeight)
		fmt.Fprintf(&sb, `<rect class="%s" x="%d" y="%d" width="%.1f" height="%d"/>`, class, labelWidth, y, w, barHeight)
		if b.HasTarget {
			tx := labelWidth + math.Max(0, finite(b.Target))/maxV*barArea
			fmt.Fprintf(&sb, `<line class="target" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`, tx, y-3, tx, y+barHeight+3)
		}
		fmt.Fprintf(&sb, `<text class="value" x="%d" y="%d">%s</text></g>`, labelWidth+barArea+6, y+barHeight-3, html.EscapeString(b.Text))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // every text above is escaped
}

// chart is a titled chart, for a page's figure.
type chart struct {
	Title string
	SVG   template.HTML
}

func newChart(title string, bars []bar) chart { return chart{Title: title, SVG: barChart(title, bars)} }

// finite maps NaN and ±Inf to 0, so no chart draws off its canvas.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
