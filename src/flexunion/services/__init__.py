"""分层分类服务与帮扶 (issue 17; docs/services.md): `catalogue` (服务目录, one entrance: HQ's
entries and the regions' own), `applications` (a worker's application, its materials and the
window's review: 补件, approval, refusal, 超期件 / 退回件), `events` (facts pushed by partners,
their work signals, weather warnings), `groups` (分层分类: service groups evaluated from data,
the lists per group and place, what a member is offered), `assistance` (帮扶台账: the hardship
track, grants, budgets, special-category data), `triggers` (触发规则: events mapped to
actions, once each); review/ (月度复盘) joins them."""
