package simulate

import (
	"fmt"
	"image/color"
	"os"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plot draws r into a PNG at path: above, each hour's load (refreshes
// planned), refreshes done and failed against the sweeps' capacity; below,
// the smallest refresh-token life left, against the safety margin.
func Plot(r *Result, path string) error {
	s := r.Scenario
	day := float64(s.Day)
	if day == 0 {
		day = float64(s.Horizon) / 60
	}
	unit := "days"
	load, done, failed, life := plotter.XYs{}, plotter.XYs{}, plotter.XYs{}, plotter.XYs{}
	for _, pt := range r.Series {
		x := float64(pt.At) / day
		load = append(load, plotter.XY{X: x, Y: float64(pt.Load)})
		done = append(done, plotter.XY{X: x, Y: float64(pt.Done)})
		if pt.Failed > 0 || len(s.Outages) > 0 {
			failed = append(failed, plotter.XY{X: x, Y: float64(pt.Failed)})
		}
		if pt.MinLife >= 0 {
			life = append(life, plotter.XY{X: x, Y: float64(pt.MinLife) / day})
		}
	}
	end := float64(s.Horizon) / day

	top := plot.New()
	top.Title.Text = fmt.Sprintf("%s: peak load %.0f%% of capacity, %d expired", s.Title, 100*r.PeakLoad, r.Expired)
	top.Y.Label.Text = "refreshes per " + binName(s.Bin)
	capacity := float64(r.BinCapacity())
	if err := addLines(top,
		line{"planned (load)", load, color.RGBA{R: 31, G: 119, B: 180, A: 255}, false},
		line{"refreshed", done, color.RGBA{R: 44, G: 160, B: 44, A: 255}, false},
		line{"failed", failed, color.RGBA{R: 214, G: 39, B: 40, A: 255}, false},
		line{"capacity", plotter.XYs{{X: 0, Y: capacity}, {X: end, Y: capacity}}, color.Black, true},
	); err != nil {
		return err
	}
	// The axes are set after the lines (adding one widens them). A load
	// far above capacity is clipped at 5× it, so that the rest stays
	// readable.
	top.X.Min, top.X.Max = 0, end
	top.Y.Min, top.Y.Max = 0, max(capacity*1.3, maxOf(load)*1.05, maxOf(done)*1.05, maxOf(failed)*1.05, 1)
	if top.Y.Max > 5*capacity {
		top.Y.Max = 5 * capacity
		top.Title.Text += " (load clipped at 5× capacity)"
	}

	bottom := plot.New()
	bottom.X.Label.Text = unit
	bottom.Y.Label.Text = "smallest life left (" + unit + ")"
	margin := float64(s.Margin) / day
	if err := addLines(bottom,
		line{"smallest refresh-token life left", life, color.RGBA{R: 148, G: 103, B: 189, A: 255}, false},
		line{"REFRESH_SAFETY_MARGIN", plotter.XYs{{X: 0, Y: margin}, {X: end, Y: margin}}, color.Black, true},
	); err != nil {
		return err
	}
	bottom.X.Min, bottom.X.Max = 0, end
	bottom.Y.Min, bottom.Y.Max = 0, float64(s.Lifetime)/day

	const w, h = 9 * vg.Inch, 6 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(80))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8), PadY: vg.Points(6)}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type line struct {
	name   string
	xys    plotter.XYs
	color  color.Color
	dashed bool
}

func addLines(p *plot.Plot, lines ...line) error {
	p.Legend.Top = true
	for _, l := range lines {
		if len(l.xys) == 0 {
			continue
		}
		pl, err := plotter.NewLine(l.xys)
		if err != nil {
			return err
		}
		pl.Color = l.color
		pl.Width = vg.Points(1)
		if l.dashed {
			pl.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(pl)
		p.Legend.Add(l.name, pl)
	}
	return nil
}

func maxOf(xys plotter.XYs) float64 {
	m := 0.0
	for _, xy := range xys {
		m = max(m, xy.Y)
	}
	return m
}

func binName(d time.Duration) string {
	if d == time.Hour {
		return "hour"
	}
	return d.String()
}
