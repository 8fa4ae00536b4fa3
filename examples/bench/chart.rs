//! A dependency-free SVG chart of the bench: per workload, the GPU median and the CPU
//! reference's median as horizontal bars on a log scale of milliseconds.

use crate::Measured;

pub fn svg(adapter: &str, results: &[Measured]) -> String {
    let (left, bar, gap, width) = (130.0, 12.0, 10.0, 560.0);
    let top = 50.0;
    let height = top + results.len() as f64 * (2.0 * bar + gap) + 40.0;
    let all_ms = results.iter().flat_map(|m| [m.median_ms, m.cpu_median_ms]);
    let (low, high) = all_ms.fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (low, high) = (
        (low.log10().floor()).min(-1.0),
        high.log10().ceil().max(0.0),
    );
    let x = |ms: f64| left + (ms.log10() - low) / (high - low) * width;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"18\" font-size=\"13\">wgcnn: GPU (blue) vs CPU reference (grey), median ms, log scale</text>\n\
         <text x=\"10\" y=\"34\" fill=\"#555\">{}</text>\n",
        left + width + 90.0,
        adapter.replace('&', "&amp;").replace('<', "&lt;")
    );
    for decade in low as i32..=high as i32 {
        let ms = 10f64.powi(decade);
        let px = x(ms);
        out += &format!(
            "<line x1=\"{px}\" y1=\"{}\" x2=\"{px}\" y2=\"{}\" stroke=\"#ddd\"/>\n",
            top - 5.0,
            height - 30.0
        );
        out += &format!(
            "<text x=\"{px}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{ms} ms</text>\n",
            height - 15.0
        );
    }
    for (index, m) in results.iter().enumerate() {
        let y = top + index as f64 * (2.0 * bar + gap);
        out += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
            left - 6.0,
            y + bar + 4.0,
            m.name
        );
        for (row, (ms, colour)) in [(m.median_ms, "#3b6fd6"), (m.cpu_median_ms, "#999")]
            .into_iter()
            .enumerate()
        {
            let y = y + row as f64 * bar;
            out += &format!(
                "<rect x=\"{left}\" y=\"{y}\" width=\"{:.1}\" height=\"{}\" fill=\"{colour}\"/>\n",
                (x(ms) - left).max(1.0),
                bar - 1.0
            );
            out += &format!(
                "<text x=\"{:.1}\" y=\"{}\" fill=\"#333\">{ms:.2}</text>\n",
                x(ms) + 4.0,
                y + bar - 2.0
            );
        }
    }
    out + "</svg>\n"
}
