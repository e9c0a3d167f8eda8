"""The global asset lineage shows the nine assets of the design card."""

from customer_analytics_tests.ui.pages import (
    expand_all_groups,
    expect,
    filter_graph,
    graph_node,
    open_lineage,
)

# The two chains of the design card, each in lineage order.
ASSETS = (
    "raw_log_content",
    "content_quarantine",
    "daily_pivot",
    "customer_content_stats",
    "raw_log_search",
    "search_quarantine",
    "monthly_top_keyword",
    "keyword_category",
    "customer_search_stats",
)


def test_lineage_shows_the_nine_assets_of_the_design_card(page, screenshot):
    open_lineage(page)
    # Groups start collapsed into one box each; the canvas menu opens them all.
    expand_all_groups(page)
    # Then the design card's two chains only: with the analytics group too, the graph is laid
    # out wider than the window and the nodes outside it are not drawn.
    filter_graph(page, " or ".join(f'key:"{asset}"' for asset in ASSETS))

    for asset in ASSETS:
        expect(graph_node(page, asset), f"{asset} on the lineage graph").to_be_visible()
    screenshot("lineage")
