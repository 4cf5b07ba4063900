// Live status: poll the JSON endpoint; the meta refresh above is the fallback without JavaScript.
(function () {
  document.querySelector('meta[http-equiv="refresh"]')?.remove();
  const box = document.getElementById("import-status");
  async function poll() {
    let status;
    try {
      status = await (await fetch(box.dataset.statusUrl, {headers: {Accept: "application/json"}})).json();
    } catch (error) {
      setTimeout(poll, 3000);
      return;
    }
    document.getElementById("import-status-text").textContent = status.status_display;
    document.getElementById("import-stage").textContent = status.stage || "—";
    document.getElementById("import-progress").value = status.progress;
    document.getElementById("import-percent").textContent = status.progress + "%";
    document.getElementById("import-no-worker").hidden = !status.no_worker_yet;
    const list = document.getElementById("import-messages");
    list.replaceChildren(...status.messages.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }));
    if (status.finished) {
      window.location.reload();  // the finished page has the outcome, the links and the buttons
    } else {
      setTimeout(poll, 1000);
    }
  }
  setTimeout(poll, 1000);
})();
