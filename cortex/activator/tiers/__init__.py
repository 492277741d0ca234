"""The four routing tiers, cheapest first: keyword rules, similarity, classifier model, reasoning model."""
