/**
 * Place names for schools, cities and the district. Pairs from this list name schools
 * ("Maple Grove Elementary School").
 */
export const PLACE_NAMES: readonly string[] = Object.freeze([
  'Lincoln', 'Washington', 'Jefferson', 'Roosevelt', 'Franklin', 'Madison', 'Kennedy', 'Hamilton',
  'Maple Grove', 'Oak Ridge', 'Cedar Hills', 'Pine Valley', 'Willow Creek', 'Riverside', 'Lakeview',
  'Sunnyside', 'Hillcrest', 'Fairview', 'Meadowbrook', 'Brookside', 'Highland', 'Westwood', 'Eastgate',
  'Northfield', 'Southport', 'Stonebridge', 'Clearwater', 'Silver Lake', 'Green Valley', 'Briarwood',
  'Evergreen', 'Harbor View', 'Mountain View', 'Park Avenue', 'Elmwood', 'Ashford', 'Fox Run',
  'Juniper', 'Sequoia', 'Redwood', 'Aspen', 'Sycamore', 'Magnolia', 'Cypress', 'Hawthorne',
  'Chávez', 'Tubman', 'Carver', 'Earhart', 'Curie', 'Sojourner Truth', 'King', 'Mandela', 'Ochoa',
  'Sakura', 'Bayside', 'Crestview', 'Glenwood', 'Kingsley', 'Lakeshore', 'Millbrook', 'Oakmont',
]);
