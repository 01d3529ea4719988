"""Evidence reconstruction: check published numbers against what data could give."""
