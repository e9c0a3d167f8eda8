"""The global asset lineage shows every asset of the definitions."""

from customer_analytics_tests.ui.pages import expand_all_groups, expect, graph_node, open_lineage


def test_lineage_shows_every_asset_of_the_definitions(page, definitions, screenshot):
    assets = sorted(key.to_user_string() for key in definitions.resolve_all_asset_keys())
    assert len(assets) >= 9, assets

    open_lineage(page)
    # Groups start collapsed into one box each; the canvas menu opens them all.
    expand_all_groups(page)

    for asset in assets:
        expect(graph_node(page, asset), f"{asset} on the lineage graph").to_be_visible()
    screenshot("lineage")
