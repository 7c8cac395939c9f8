"""CSRF on every state-changing request (htmx included) and clear error pages."""

from walkabout.models import Role

from .conftest import csrf_token, login


def test_post_without_token_is_refused_with_a_clear_page(client, factory):
    user = factory.user()
    response = client.post("/login", data={"email": user.email, "password": "x"})
    assert response.status_code == 400
    assert "The form had expired or was not sent from this site" in response.get_data(as_text=True)


def test_tampered_token_is_refused(client, factory):
    user = factory.user()
    token = csrf_token(client)
    # One character of the signature changed (not the last: its low bits are padding, so "xx"
    # there was once the same signature and the form went on to the wrong password).
    changed = "A" if token[-5] != "A" else "B"
    tampered = token[:-5] + changed + token[-4:]
    response = client.post("/login", data={"email": user.email, "password": "x", "csrf_token": tampered})
    assert response.status_code == 400


def test_logout_needs_a_token_too(client, factory):
    login(client, factory.user().email)
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still signed in


def test_htmx_requests_send_the_token_in_a_header(client, factory):
    user = factory.user()
    login(client, user.email)
    page = client.get("/").get_data(as_text=True)
    header_token = page.split('hx-headers=\'{"X-CSRFToken": "')[1].split('"')[0]
    refused = client.post("/logout", headers={"HX-Request": "true"})
    assert refused.status_code == 400
    assert 'class="flash flash-error"' in refused.get_data(as_text=True)  # a fragment, not a page
    accepted = client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": header_token})
    assert accepted.status_code == 303


def test_unknown_page_gets_a_404_page(client, factory):
    login(client, factory.user(Role.ADMIN).email)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    assert client.get("/admin/users/999999").status_code == 404


def test_wrong_method_gets_a_405_page(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "That is not allowed here" in response.get_data(as_text=True)


def test_oversized_request_gets_a_413_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/login", data={"email": "a" * 5000})
    assert response.status_code == 413
    assert "That file is too large" in response.get_data(as_text=True)
