"""流动议事 participation grants: a member's board reaches a region they work in."""
