"""The display's web side: routes and pages, websockets, who may do what (token, pairings), and the limits that
keep one client from taking what the rest need."""
