"""A team forms in a real browser at phone width: the owner invites an editor, who accepts in a
browser of their own, and sees what an editor may do and no more. Screenshots of the team pages go
to the test data folder (`.data/test/screenshots/`)."""

from __future__ import annotations

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

PHONE = {"width": 360, "height": 780}
PASSWORD = "a long enough passphrase 42"


def shoot(page: Page, name: str) -> None:
    folder = settings.DATA_DIR / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def fits(page: Page, width: int) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth") <= width


@pytest.mark.django_db(transaction=True)
def test_an_owner_invites_an_editor_who_joins_in_another_browser(owner_page, workspace, live_server_url):
    page = owner_page
    page.set_viewport_size(PHONE)
    page.goto("/settings/members/")
    page.get_by_label("Email").fill("editor@example.com")
    page.locator("#id_role").select_option("editor")
    page.get_by_role("button", name="Invite").click()
    link = page.locator("[data-testid=invitation-link] pre").inner_text().strip()
    assert link.startswith(live_server_url + "/invitations/")
    expect(page.locator("[data-testid='invitation-editor@example.com']")).to_be_visible()
    assert fits(page, PHONE["width"])
    shoot(page, "members-owner-phone")

    newcomer = page.context.browser.new_context(base_url=live_server_url, viewport=PHONE)
    try:
        tab = newcomer.new_page()
        tab.goto(link)
        expect(tab.get_by_role("heading", name=f"Join {workspace.name}")).to_be_visible()
        shoot(tab, "invitation-phone")
        tab.get_by_label("Your name").fill("Eda")
        tab.get_by_label("Choose a password").fill(PASSWORD)
        tab.get_by_label("Password again").fill(PASSWORD)
        tab.get_by_role("button", name="Create my account and join").click()
        expect(tab.get_by_text(f"Welcome to {workspace.name}: you are editor here.")).to_be_visible()

        tab.goto("/settings/members/")
        expect(tab.locator("[data-testid='member-editor@example.com']")).to_contain_text("Editor")
        expect(tab.get_by_role("heading", name="Invite someone")).to_have_count(0)
        expect(tab.get_by_role("link", name="Audit log")).to_have_count(0)
        assert fits(tab, PHONE["width"])
        shoot(tab, "members-editor-phone")

        # The same link a second time, in a third browser: used.
        again = page.context.browser.new_context(base_url=live_server_url).new_page()
        again.goto(link)
        expect(again.get_by_text("already been used")).to_be_visible()
        again.context.close()
    finally:
        newcomer.close()

    # The owner sees the new member, and the change in the audit log.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/settings/members/")
    expect(page.locator("[data-testid='member-editor@example.com']")).to_be_visible()
    shoot(page, "members-owner-desktop")
    page.goto("/settings/audit-log/")
    expect(page.get_by_role("cell", name="Invitation accepted")).to_be_visible()
    page.locator("#id_action").select_option("invitation.create")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("cell", name="Invitation sent")).to_be_visible()
    expect(page.get_by_role("cell", name="Invitation accepted")).to_have_count(0)
    shoot(page, "audit-log-desktop")
    page.set_viewport_size(PHONE)
    assert fits(page, PHONE["width"])
    shoot(page, "audit-log-phone")


@pytest.mark.django_db(transaction=True)
def test_a_person_chooses_chinese_and_keeps_it_in_every_browser(owner_page, owner, workspace, live_server_url):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.models import User
    from knowledge import ingestion
    from knowledge import services as knowledge_services

    base = knowledge_services.knowledge_base_create(workspace=workspace, name="客服手册")
    document, _ = knowledge_services.document_create_from_upload(
        knowledge_base=base, file=SimpleUploadedFile("退款.txt", "退款将在五个工作日内到账。".encode())
    )
    assert ingestion.document_ingest(document_id=document.pk) == "ready"

    page = owner_page
    page.goto("/knowledge/")
    expect(page.get_by_role("heading", name="Knowledge", exact=True)).to_be_visible()
    page.locator("#language-menu").select_option("zh-hans")
    page.locator(".language-menu button").click()
    expect(page.get_by_role("heading", name="知识库", exact=True)).to_be_visible()
    expect(page.get_by_text("语言已保存。")).to_be_visible()
    assert User.objects.get(pk=owner.pk).language == "zh-hans"

    # Another browser, whose language is English: the person's setting wins.
    other = page.context.browser.new_context(base_url=live_server_url, locale="en-US")
    try:
        other.add_cookies(page.context.cookies())
        tab = other.new_page()
        tab.goto(f"/knowledge/{base.pk}/")
        expect(tab.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(tab.get_by_role("heading", name="添加文档")).to_be_visible()
        expect(tab.get_by_role("button", name="命中测试")).to_be_visible()
        expect(tab.locator("#documents")).to_contain_text("就绪")
        expect(tab.get_by_text("Add documents")).to_have_count(0)
        shoot(tab, "knowledge-base-zh")
    finally:
        other.close()
