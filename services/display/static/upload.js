// Upload: send the file without blocking anything, then follow the job on its own page.
import { name as NAME_RULE } from "/rules.js";
import { t } from "/static/i18n.js";

document.getElementById("room").pattern = NAME_RULE.input_pattern; // the server's rule, served
const form = document.getElementById("upload-form");
const input = document.getElementById("audio");
const drop = document.getElementById("drop");
const problem = document.getElementById("upload-error");
const sendButton = document.getElementById("send");

function chosen() {
  const file = input.files[0];
  document.getElementById("drop-title").textContent = file ? file.name : t("upload.choose");
  document.getElementById("drop-hint").textContent = file ? `${(file.size / 1048576).toFixed(1)} MB` : t("upload.drop");
}
input.addEventListener("change", chosen);
for (const name of ["dragenter", "dragover"]) drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add("over"); });
for (const name of ["dragleave", "drop"]) drop.addEventListener(name, () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); input.files = e.dataTransfer.files; chosen(); });

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  problem.hidden = true;
  sendButton.disabled = true;
  sendButton.textContent = t("upload.sending");
  const body = new FormData();
  body.append("audio", input.files[0]);
  const room = document.getElementById("room").value.trim();
  if (room) body.append("room", room);
  const language = document.getElementById("language").value; // "": the room's; "auto": detect it
  if (language) body.append("language", language);
  try {
    const response = await fetch("/api/uploads", { method: "POST", body, credentials: "same-origin" });
    const answer = await response.json().catch(() => ({}));
    if (response.status !== 202) throw new Error(answer.error ?? `${response.status} ${response.statusText}`);
    location.assign(`/jobs/${answer.job_id}`);
  } catch (err) {
    problem.textContent = err.message;
    problem.hidden = false;
    sendButton.disabled = false;
    sendButton.textContent = t("upload.send");
  }
});
