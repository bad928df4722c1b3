"""Browser tabs as mics of their rooms: the mics, their socket, and the board of mics heard from lately."""
