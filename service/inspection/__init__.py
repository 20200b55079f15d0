"""指导检查组: inspection groups that check and accept rectification and promotion."""
