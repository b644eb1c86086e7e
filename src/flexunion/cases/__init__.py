"""The demand ledger (需求清单与闭环办理): intake, routing and the handling steps of a case."""
