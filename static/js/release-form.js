// The release selector's form sends only what was chosen: an empty date (or "Latest") would
// otherwise put `date=` and `release=` in every address it leads to. Without script the empty
// fields are sent and ignored.
for (const form of document.querySelectorAll("form.release-form")) {
  form.addEventListener("formdata", (event) => {
    for (const [name, value] of [...event.formData.entries()]) {
      if (value === "") event.formData.delete(name);
    }
  });
}
