/**
 * Given names for generated people: common names from several languages, including a few with
 * accents, apostrophes and hyphens so that encodings and CSV quoting are exercised.
 */
export const GIVEN_NAMES: readonly string[] = Object.freeze([
  'Olivia', 'Liam', 'Emma', 'Noah', 'Amelia', 'Oliver', 'Sophia', 'Elijah', 'Charlotte', 'James',
  'Ava', 'William', 'Isabella', 'Benjamin', 'Mia', 'Lucas', 'Evelyn', 'Henry', 'Harper', 'Theodore',
  'Luna', 'Jack', 'Camila', 'Levi', 'Gianna', 'Alexander', 'Elizabeth', 'Jackson', 'Eleanor', 'Mateo',
  'Ella', 'Daniel', 'Abigail', 'Michael', 'Sofía', 'Mason', 'Avery', 'Sebastián', 'Scarlett', 'Ethan',
  'Emily', 'Logan', 'Aria', 'Owen', 'Penelope', 'Samuel', 'Chloe', 'Jacob', 'Layla', 'Asher',
  'Mila', 'Aiden', 'Nora', 'John', 'Hazel', 'Joseph', 'Madison', 'Wyatt', 'Ellie', 'David',
  'Lily', 'Leo', 'Nova', 'Luke', 'Isla', 'Julian', 'Grace', 'Hudson', 'Violet', 'Grayson',
  'Aurora', 'Matthew', 'Riley', 'Ezra', 'Zoë', 'Gabriel', 'Willow', 'Carter', 'Emilia', 'Isaac',
  'Priya', 'Arjun', 'Mei', 'Wei', 'Yuki', 'Hiroshi', 'Fatima', 'Omar', 'Aisha', 'Yusuf',
  'Amara', 'Kwame', 'Ngozi', 'Chidi', 'Ximena', 'Santiago', 'Valentina', 'José', 'Anh', 'Minh',
  'Seo-yeon', 'Ji-ho', 'Siobhán', 'Niamh', 'Björn', 'Astrid', 'François', 'Chloé', 'Dmitri', 'Anastasia',
]);

/**
 * Family names for generated people, with the same mix as {@link GIVEN_NAMES} (O'Brien,
 * Nguyễn, García-López…).
 */
export const FAMILY_NAMES: readonly string[] = Object.freeze([
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores',
  'Green', 'Adams', 'Nelson', 'Baker', 'Hall', 'Rivera', 'Campbell', 'Mitchell', 'Carter', 'Roberts',
  'Gomez', 'Phillips', 'Evans', 'Turner', 'Diaz', 'Parker', 'Cruz', 'Edwards', 'Collins', 'Reyes',
  'Stewart', 'Morris', 'Morales', 'Murphy', 'Cook', 'Rogers', 'Gutierrez', 'Ortiz', 'Morgan', 'Cooper',
  'Peterson', 'Bailey', 'Reed', 'Kelly', 'Howard', 'Ramos', 'Kim', 'Cox', 'Ward', 'Richardson',
  "O'Brien", "O'Connor", "D'Angelo", 'García-López', 'Smith-Jones', 'Nguyễn', 'Trần', 'Müller', 'Søndergaard', 'Patel',
  'Shah', 'Singh', 'Chen', 'Wang', 'Zhang', 'Tanaka', 'Sato', 'Okafor', 'Mensah', 'Haddad',
  'Khan', 'Ali', 'Ivanova', 'Kowalski', 'Dubois', 'Rossi', 'Silva', 'Santos', 'Park', 'Choi',
]);
