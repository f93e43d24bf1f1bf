//! A layered layout, left to right, for the SVG rendering: pure Rust, no `dot` needed.
//!
//! ```text
//!  links ──► break cycles (depth-first, back links reversed)
//!        ──► layers by longest path from the sources
//!        ──► order within layers: barycentre sweeps, down and up, four times
//!        ──► coordinates: a column per layer, boxes stacked and centred in it
//! ```
//!
//! Every step is deterministic (ties keep the input order), so the same graph is always
//! drawn the same way. Links that run backwards or stay within a layer are not straightened
//! here; the SVG renderer routes them below the boxes.

/// A box to place.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Size {
    pub width: f64,
    pub height: f64,
}

/// Where a box went: its layer and its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Placed {
    pub layer: usize,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Placed {
    pub fn center_y(&self) -> f64 {
        self.y + self.height / 2.0
    }

    pub fn right(&self) -> f64 {
        self.x + self.width
    }

    pub fn bottom(&self) -> f64 {
        self.y + self.height
    }

    pub fn center_x(&self) -> f64 {
        self.x + self.width / 2.0
    }
}

/// Space around the drawing.
pub(crate) const MARGIN: f64 = 24.0;
/// Horizontal room between layers, for the link labels.
const LAYER_GAP: f64 = 150.0;
/// Vertical room between boxes of one layer.
const ROW_GAP: f64 = 40.0;

/// The placed boxes, and for each link the points it bends through on its way across
/// intermediate layers (empty for a link between neighbouring layers, a backward link or a
/// self-loop).
#[derive(Debug)]
pub(crate) struct Layout {
    pub boxes: Vec<Placed>,
    pub bends: Vec<Vec<(f64, f64)>>,
}

/// Places `sizes` so that `links` (from, to) run left to right where the graph allows. A
/// link across several layers gets a thin stand-in box in each layer it crosses, so that it
/// is ordered with the boxes and passes between them rather than through them.
pub(crate) fn place(sizes: &[Size], links: &[(usize, usize)]) -> Layout {
    let reversed = back_links(sizes.len(), links);
    let oriented: Vec<(usize, usize)> = links
        .iter()
        .zip(&reversed)
        .filter(|((f, t), _)| f != t)
        .map(|(&(f, t), &back)| if back { (t, f) } else { (f, t) })
        .collect();
    let boxes = sizes.len();
    let mut layer = layers(boxes, &oriented);

    // Split every forward link that skips layers into a chain through stand-ins.
    let mut sizes = sizes.to_vec();
    let mut segments = Vec::new();
    let mut chains = vec![Vec::new(); links.len()];
    for (i, &(from, to)) in links.iter().enumerate() {
        if from == to || reversed[i] {
            continue;
        }
        let mut previous = from;
        for l in layer[from] + 1..layer[to] {
            sizes.push(STAND_IN);
            layer.push(l);
            let stand_in = sizes.len() - 1;
            segments.push((previous, stand_in));
            chains[i].push(stand_in);
            previous = stand_in;
        }
        segments.push((previous, to));
    }

    let rows = order(&layer, &segments);
    let mut placed = coordinates(&sizes, &layer, &rows);
    let bends = chains
        .iter()
        .map(|chain| {
            chain
                .iter()
                .map(|&v| (placed[v].center_x(), placed[v].center_y()))
                .collect()
        })
        .collect();
    placed.truncate(boxes);
    Layout {
        boxes: placed,
        bends,
    }
}

/// The size of a stand-in for a link crossing a layer.
const STAND_IN: Size = Size {
    width: 0.0,
    height: 12.0,
};

/// For each link, whether a depth-first search finds it pointing back up the current path;
/// reversing those links leaves no cycle. Self-loops are never back links.
fn back_links(n: usize, links: &[(usize, usize)]) -> Vec<bool> {
    let mut out_links: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &(from, to)) in links.iter().enumerate() {
        if from != to {
            out_links[from].push(i);
        }
    }

    // 0 = unseen, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; n];
    let mut back = vec![false; links.len()];
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        state[start] = 1;
        while let Some(top) = stack.last_mut() {
            let v = top.0;
            let next = out_links[v].get(top.1).copied();
            top.1 += 1;
            match next {
                Some(i) => {
                    let w = links[i].1;
                    match state[w] {
                        0 => {
                            state[w] = 1;
                            stack.push((w, 0));
                        }
                        1 => back[i] = true,
                        _ => {}
                    }
                }
                None => {
                    state[v] = 2;
                    stack.pop();
                }
            }
        }
    }
    back
}

/// Longest path from the sources: a box sits one layer right of its furthest predecessor.
fn layers(n: usize, links: &[(usize, usize)]) -> Vec<usize> {
    let mut indegree = vec![0usize; n];
    for &(_, to) in links {
        indegree[to] += 1;
    }
    let mut layer = vec![0usize; n];
    let mut ready: Vec<usize> = (0..n).filter(|&v| indegree[v] == 0).rev().collect();
    while let Some(v) = ready.pop() {
        for &(from, to) in links.iter().filter(|(f, _)| *f == v) {
            layer[to] = layer[to].max(layer[from] + 1);
            indegree[to] -= 1;
            if indegree[to] == 0 {
                ready.push(to);
            }
        }
    }
    layer
}

/// The boxes of each layer, top to bottom, after barycentre sweeps.
fn order(layer: &[usize], links: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let count = layer.iter().max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (v, &l) in layer.iter().enumerate() {
        rows[l].push(v);
    }

    for _ in 0..4 {
        for l in 1..count {
            sort_by_neighbours(&mut rows, l, layer, links, |nl| nl < l);
        }
        for l in (0..count.saturating_sub(1)).rev() {
            sort_by_neighbours(&mut rows, l, layer, links, |nl| nl > l);
        }
    }
    rows
}

/// Sorts layer `l` by the mean row of each box's neighbours in the layers `side` accepts;
/// a box without such neighbours keeps its row.
fn sort_by_neighbours(
    rows: &mut [Vec<usize>],
    l: usize,
    layer: &[usize],
    links: &[(usize, usize)],
    side: impl Fn(usize) -> bool,
) {
    let row_of = |v: usize| rows[layer[v]].iter().position(|&x| x == v).unwrap_or(0) as f64;
    let mut keyed: Vec<(f64, usize, usize)> = rows[l]
        .iter()
        .enumerate()
        .map(|(row, &v)| {
            let neighbours: Vec<f64> = links
                .iter()
                .filter_map(|&(f, t)| match (f == v, t == v) {
                    (true, false) => Some(t),
                    (false, true) => Some(f),
                    _ => None,
                })
                .filter(|&n| side(layer[n]))
                .map(row_of)
                .collect();
            let key = if neighbours.is_empty() {
                row as f64
            } else {
                neighbours.iter().sum::<f64>() / neighbours.len() as f64
            };
            (key, row, v)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    rows[l] = keyed.into_iter().map(|(_, _, v)| v).collect();
}

/// A column per layer as wide as its widest box; each column's boxes centred vertically.
fn coordinates(sizes: &[Size], layer: &[usize], rows: &[Vec<usize>]) -> Vec<Placed> {
    let column_height = |row: &Vec<usize>| {
        let boxes: f64 = row.iter().map(|&v| sizes[v].height).sum();
        boxes + ROW_GAP * row.len().saturating_sub(1) as f64
    };
    let tallest = rows.iter().map(column_height).fold(0.0, f64::max);

    let mut placed = vec![
        Placed {
            layer: 0,
            x: 0.0,
            y: 0.0,
            width: 0.0,
            height: 0.0,
        };
        sizes.len()
    ];
    let mut x = MARGIN;
    for row in rows {
        let width = row.iter().map(|&v| sizes[v].width).fold(0.0, f64::max);
        let mut y = MARGIN + (tallest - column_height(row)) / 2.0;
        for &v in row {
            let size = sizes[v];
            placed[v] = Placed {
                layer: layer[v],
                x: x + (width - size.width) / 2.0,
                y,
                width: size.width,
                height: size.height,
            };
            y += size.height + ROW_GAP;
        }
        x += width + LAYER_GAP;
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOX: Size = Size {
        width: 100.0,
        height: 40.0,
    };

    #[test]
    fn a_chain_runs_left_to_right() {
        let placed = place(&[BOX; 3], &[(0, 1), (1, 2)]).boxes;
        let layers: Vec<usize> = placed.iter().map(|p| p.layer).collect();
        assert_eq!(layers, [0, 1, 2]);
        assert!(placed[0].right() < placed[1].x && placed[1].right() < placed[2].x);
    }

    #[test]
    fn cycles_and_self_loops_still_get_layers() {
        let placed = place(&[BOX; 3], &[(0, 1), (1, 2), (2, 0), (1, 1)]).boxes;
        let layers: Vec<usize> = placed.iter().map(|p| p.layer).collect();
        assert_eq!(layers, [0, 1, 2]);
    }

    #[test]
    fn fan_out_stacks_in_one_layer_without_overlap() {
        let placed = place(&[BOX; 3], &[(0, 1), (0, 2)]).boxes;
        assert_eq!(placed[1].layer, 1);
        assert_eq!(placed[2].layer, 1);
        assert!(placed[1].bottom() < placed[2].y);
        // The source sits level with the middle of its two targets.
        let middle = (placed[1].center_y() + placed[2].center_y()) / 2.0;
        assert!((placed[0].center_y() - middle).abs() < 1e-9);
    }

    #[test]
    fn a_link_across_layers_bends_around_the_box_between() {
        let layout = place(&[BOX; 3], &[(0, 1), (1, 2), (0, 2)]);
        assert!(layout.bends[0].is_empty() && layout.bends[1].is_empty());
        let [(x, y)] = layout.bends[2][..] else {
            panic!("one bend expected: {:?}", layout.bends[2]);
        };
        let middle = layout.boxes[1];
        assert!(x > middle.x && x < middle.right());
        assert!(
            y < middle.y || y > middle.bottom(),
            "the bend misses the middle box"
        );
        assert_eq!(layout.boxes.len(), 3);
    }
}
