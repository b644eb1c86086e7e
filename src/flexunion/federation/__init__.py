"""The federation tree: HQ (总部) → regional unions (区域工会) → partner stations (站点)."""
