"""The API's Alphabetic Index: term search, one term with its subtree, a code's Index entries
(also in the code's own answer), on the bundled releases."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]


def test_searching_the_index_puts_the_main_term_first_with_its_code(api):
    answer = api.get("/api/v1/index/?q=pneumonia&part=diseases&release=FY2017").json()
    assert answer["release"]["label"] == "FY2017"
    first = answer["results"][0]
    assert (first["part"], first["level"], first["title"]) == ("diseases", 0, "Pneumonia")
    assert first["codes"] == [
        {
            "column": "code",
            "printed": "J18.9",
            "code": "J18.9",
            "code_undotted": "J189",
            "status": "complete",
            "exists": True,
        }
    ]
    assert first["page_url"].endswith("/index/diseases/P/pneumonia/?release=FY2017")
    assert answer["count"] > 100
    assert answer["next"] and "page=2" in answer["next"]


def test_a_see_reference_is_resolved_to_its_target_term(api):
    answer = api.get("/api/v1/index/?q=heart&part=diseases&release=FY2017&page_size=100").json()
    heart = next(r for r in answer["results"] if r["path"] == ["Attack, attacks", "heart"])
    assert heart["see"]["text"].casefold() == "infarct, myocardium"
    assert heart["see"]["status"] == "term"
    target = heart["see"]["target"]
    assert target["path"][0] == "Infarct, infarction"
    assert target["path"][1].startswith("myocardium, myocardial")
    followed = api.get(target["url"]).json()
    assert followed["path"] == target["path"]
    assert followed["codes"][0]["code"] == "I21.3"


def test_table_cells_come_with_their_column_headings(api):
    answer = api.get("/api/v1/index/?q=acetaminophen&part=drugs&release=FY2017").json()
    row = answer["results"][0]
    assert [(c["column"], c["code"], c["status"]) for c in row["codes"]] == [
        ("Poisoning, Accidental (unintentional)", "T39.1X1", "seventh"),
        ("Poisoning, Intentional self-harm", "T39.1X2", "seventh"),
        ("Poisoning, Assault", "T39.1X3", "seventh"),
        ("Poisoning, Undetermined", "T39.1X4", "seventh"),
        ("Adverse effect", "T39.1X5", "seventh"),
        ("Underdosing", "T39.1X6", "seventh"),
    ]


def test_a_term_comes_with_its_whole_subtree(api):
    search = api.get("/api/v1/index/?q=infarct&part=diseases&release=FY2017").json()
    infarct = search["results"][0]
    assert infarct["title"] == "Infarct, infarction"
    answer = api.get(infarct["url"]).json()
    assert answer["id"] == infarct["id"]
    cerebral = next(t for t in answer["subtree"] if t["path"][-1] == "cerebral")
    assert (cerebral["depth"], cerebral["parent"]) == (1, infarct["id"])
    assert cerebral["codes"][0]["printed"] == "I63.9-"
    assert all(t["depth"] >= 1 for t in answer["subtree"])


def test_the_code_answer_carries_its_index_entries_with_the_total(api):
    answer = api.get("/api/v1/codes/T40.2X1A/?release=FY2017").json()
    entries = answer["index_entries"]
    assert entries["index_imported"] is True
    assert entries["count"] > len(entries["results"]) == 20
    assert entries["missing_parts"] == []
    first = entries["results"][0]
    assert first["code"]["code"] == "T40.2X1" and first["code"]["status"] == "seventh"
    everything = api.get(entries["url"] + "&page_size=500").json()
    assert len(everything["results"]) == entries["count"]


def test_a_release_without_an_index_says_its_entries_are_unknown(api):
    entries = api.get("/api/v1/codes/J18.9/").json()["index_entries"]
    assert (entries["index_imported"], entries["count"], entries["results"]) == (False, 0, [])
    nearest = {p["part"]: p["nearest_release"]["label"] for p in entries["missing_parts"]}
    assert nearest == {
        "diseases": "FY2017",
        "external_causes": "FY2025",
        "drugs": "FY2025",
        "neoplasms": "FY2025",
    }
    error = api.get("/api/v1/index/?q=pneumonia&part=diseases").json()["error"]
    assert error["code"] == "index_not_found"
    assert "no Index to Diseases and Injuries was imported with FY2026" in error["message"]
    assert error["nearest_release"]["label"] == "FY2017"


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/api/v1/index/?part=lungs&release=FY2017", 400, "invalid_parameter"),
        ("/api/v1/index/?page_size=0&release=FY2017", 400, "invalid_parameter"),
        ("/api/v1/index/diseases/999999/?release=FY2017", 404, "term_not_found"),
        ("/api/v1/index/lungs/1/?release=FY2017", 404, "term_not_found"),
        ("/api/v1/index/?q=pneumonia%00&release=FY2017", 400, "invalid_parameter"),
        ("/api/v1/codes/Q99.99/index/?release=FY2017", 404, "code_not_found"),
    ],
)
def test_bad_requests_get_a_clear_error(api, url, status, code):
    response = api.get(url)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("url", "most"),
    [
        ("/api/v1/index/?q=pneumonia&release=FY2017", 7),
        ("/api/v1/index/diseases/1/?release=FY2017", 7),
        ("/api/v1/codes/J18.9/?release=FY2017", 4),  # the references, the terms with paths
        ("/api/v1/codes/J18.9/", 2),
        ("/api/v1/codes/T40.2X1A/index/?release=FY2017", 4),
    ],
)
def test_index_answers_take_a_bounded_number_of_queries(
    api, warm_code_sets, django_assert_max_num_queries, url, most
):
    with django_assert_max_num_queries(most):
        assert api.get(url).status_code == 200
