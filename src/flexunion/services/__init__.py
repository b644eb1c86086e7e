"""分层分类服务与帮扶 (issue 17; docs/services.md): `catalogue` (服务目录, one entrance: HQ's
entries and the regions' own), `applications` (a worker's application, its materials and the
window's review: 补件, approval, refusal, 超期件 / 退回件), `assistance` (帮扶台账: the hardship
track, grants, budgets, special-category data); events/ (platform events, weather warnings),
groups/ (分层分类), triggers/ and review/ (月度复盘) join them."""
