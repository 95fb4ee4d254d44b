"""OneBot v11, the protocol of QQ group bots (NapCat, Lagrange.OneBot, LLOneBot, go-cqhttp)."""
