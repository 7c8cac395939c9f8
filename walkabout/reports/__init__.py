"""Reports: HTML->PDF with a locked-down fetcher, SVG charts, CSV and the figures behind them."""
