import type { Page } from 'playwright-core';
import { expectVisible } from './browser.ts';

export const PASSWORD = 'correct horse battery staple';

/** Registers through the storefront's form; ends signed in, on the shop's front page. */
export async function registerInBrowser(page: Page, name: string, email: string): Promise<void> {
  await page.goto('/register');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expectVisible(page.getByRole('button', { name: 'Sign out' }), `${email} signed in after registering`);
  // pricing asks customer for the segment: the profile is made from user.registered, a moment later.
}

export async function signInInBrowser(
  page: Page,
  path: string,
  email: string,
  password: string,
): Promise<void> {
  await page.goto(path);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Searches the catalog and adds the product named `name` to the cart. */
export async function addToCart(page: Page, search: string, name: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Search products').fill(search);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expectVisible(
    page.getByRole('heading', { name: `Results for “${search}”` }),
    `search results for ${search}`,
  );
  const add = page.getByRole('button', { name: `Add ${name} to cart` });
  await expectVisible(add, `${name} among the results for “${search}”`);
  await add.click();
  await expectVisible(page.getByText(`Added ${name} to your cart.`), `${name} added to the cart`);
}

export async function checkout(page: Page, address: string): Promise<void> {
  await page.goto('/checkout');
  await page.getByLabel('Shipping address').fill(address);
}
