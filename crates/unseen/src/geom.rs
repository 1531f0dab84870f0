//! Boxes in source-pixel coordinates, shared by every stage.

use serde::{Deserialize, Serialize};

/// An axis-aligned box in source-image pixels: top-left corner and size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Rect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl Rect {
    /// Builds a box from its corners.
    #[must_use]
    pub fn from_corners(x1: f32, y1: f32, x2: f32, y2: f32) -> Rect {
        Rect { x: x1, y: y1, w: x2 - x1, h: y2 - y1 }
    }
    /// Right edge.
    #[must_use]
    pub fn x2(&self) -> f32 {
        self.x + self.w
    }
    /// Bottom edge.
    #[must_use]
    pub fn y2(&self) -> f32 {
        self.y + self.h
    }
    /// Area (zero for degenerate boxes).
    #[must_use]
    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }
    /// Area of the intersection with `o`.
    #[must_use]
    pub fn intersection(&self, o: &Rect) -> f32 {
        let w = (self.x2().min(o.x2()) - self.x.max(o.x)).max(0.0);
        let h = (self.y2().min(o.y2()) - self.y.max(o.y)).max(0.0);
        w * h
    }
    /// Intersection over union.
    #[must_use]
    pub fn iou(&self, o: &Rect) -> f32 {
        let i = self.intersection(o);
        let u = self.area() + o.area() - i;
        if u <= 0.0 {
            0.0
        } else {
            i / u
        }
    }
    /// The box scaled by `factor` about its centre.
    #[must_use]
    pub fn enlarged(&self, factor: f32) -> Rect {
        let (cx, cy) = (self.x + self.w / 2.0, self.y + self.h / 2.0);
        let (w, h) = (self.w * factor, self.h * factor);
        Rect { x: cx - w / 2.0, y: cy - h / 2.0, w, h }
    }
    /// Centre point.
    #[must_use]
    pub fn center(&self) -> (f32, f32) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
    /// Whether the point lies inside the box.
    #[must_use]
    pub fn contains(&self, px: f32, py: f32) -> bool {
        px >= self.x && px < self.x2() && py >= self.y && py < self.y2()
    }
    /// True when all coordinates are finite and the size is positive.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        [self.x, self.y, self.w, self.h].iter().all(|v| v.is_finite()) && self.w > 0.0 && self.h > 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_identical_and_disjoint_boxes() {
        let a = Rect { x: 0.0, y: 0.0, w: 10.0, h: 10.0 };
        assert!((a.iou(&a) - 1.0).abs() < 1e-6);
        let b = Rect { x: 20.0, y: 0.0, w: 10.0, h: 10.0 };
        assert_eq!(a.iou(&b), 0.0);
        let c = Rect { x: 5.0, y: 0.0, w: 10.0, h: 10.0 };
        assert!((a.iou(&c) - 50.0 / 150.0).abs() < 1e-6);
    }

    #[test]
    fn enlarge_keeps_centre() {
        let a = Rect { x: 10.0, y: 10.0, w: 10.0, h: 20.0 }.enlarged(2.0);
        assert_eq!(a, Rect { x: 5.0, y: 0.0, w: 20.0, h: 40.0 });
    }
}
