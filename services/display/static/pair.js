// A pairing link's page: it pairs this screen by posting the link back at once. Opening the link (GET) spends
// nothing, so a chat's link preview or a mail scanner, which runs no script, leaves it to the screen.
document.getElementById("pair").submit();
