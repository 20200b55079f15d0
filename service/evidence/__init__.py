"""Evidence files (佐证材料): what a self-rating, an assessment, a rectification item or a
complaint's handling rests on — kept outside the database, named by their content's hash."""
