"""需求清单 The demand ledger (docs/cases.md): ledger/ at the bottom (the case, its events and
what each caller reads), policies/ (政策库, hotline platforms), intake/ (统一受理), handling/
(办理环节), suggestions/ (意见收集二维码), attachments/ (诉求证据), followup/ (回访复核, 满意度,
重启) on top; clocks/ (SLA), rectification/ (整改清单), figures/ (统计)."""
