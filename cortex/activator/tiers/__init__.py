"""The routing tiers, cheapest first (keyword and network rules, similarity, classifier, reasoning), one interface."""
