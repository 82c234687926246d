"""Order flow: trade markouts, the informed-flow mixture, the adverse-selection add-on
and the micro-price (ridge and Stoikov)."""
