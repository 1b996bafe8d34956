// Reads one repository's pull-request activity through octokit.js, as any integrator would, and prints
// one JSON document of everything it read.
//
//   node read_repository.mjs <base-url> <owner/repo>      (token in GITHUB_TOKEN)
//
// Each section is read on its own: a failing request is recorded as { error: {...} } under its section
// and the other sections still run. REST listings go through octokit's paginator, which follows the
// `Link: <...>; rel="next"` headers; GraphQL pages through cursors (`pageInfo { hasNextPage endCursor }`).

import { graphql as baseGraphql } from "@octokit/graphql";
import { Octokit } from "@octokit/rest";

const [baseUrl, fullName] = process.argv.slice(2);
const token = process.env.GITHUB_TOKEN;
if (!baseUrl || !fullName || !token) {
  process.stderr.write("usage: GITHUB_TOKEN=... node read_repository.mjs <base-url> <owner/repo>\n");
  process.exit(2);
}
const [owner, repo] = fullName.split("/");

const octokit = new Octokit({
  auth: token,
  baseUrl,
  userAgent: "ghcapture-octokit-check",
  log: { debug() {}, info() {}, warn: (m) => process.stderr.write(`warn: ${m}\n`), error: (m) => process.stderr.write(`error: ${m}\n`) },
});
const graphql = baseGraphql.defaults({ baseUrl, headers: { authorization: `token ${token}` } });

function describe(error) {
  return {
    name: error?.name ?? "Error",
    status: error?.status ?? null,
    message: String(error?.message ?? error),
    url: error?.request?.url ?? null,
    errors: error?.errors ?? null,
  };
}

async function section(name, read) {
  try {
    return await read();
  } catch (error) {
    process.stderr.write(`${name}: ${error?.stack ?? error}\n`);
    return { error: describe(error) };
  }
}

const where = { owner, repo };
const out = { octokit: Octokit.VERSION };

// Pull requests, and every per-PR list through the paginator.
out.pulls = await section("pulls", () =>
  // Ten a page, so the paginator follows the listing's Link headers.
  octokit.paginate(octokit.rest.pulls.list, { ...where, state: "all", per_page: 10 }),
);
out.per_pull = {};
for (const pull of Array.isArray(out.pulls) ? out.pulls : []) {
  const one = { ...where, pull_number: pull.number };
  out.per_pull[pull.number] = {
    reviews: await section(`reviews #${pull.number}`, () =>
      octokit.paginate(octokit.rest.pulls.listReviews, { ...one, per_page: 100 }),
    ),
    review_comments: await section(`review comments #${pull.number}`, () =>
      octokit.paginate(octokit.rest.pulls.listReviewComments, { ...one, per_page: 100 }),
    ),
    issue_comments: await section(`issue comments #${pull.number}`, () =>
      octokit.paginate(octokit.rest.issues.listComments, { ...where, issue_number: pull.number, per_page: 100 }),
    ),
    files: await section(`files #${pull.number}`, () =>
      octokit.paginate(octokit.rest.pulls.listFiles, { ...one, per_page: 100 }),
    ),
    // Default page size (30): the paginator walks more Link headers.
    commits: await section(`commits #${pull.number}`, () => octokit.paginate(octokit.rest.pulls.listCommits, one)),
    requested_reviewers: await section(`requested reviewers #${pull.number}`, async () =>
      (await octokit.rest.pulls.listRequestedReviewers(one)).data,
    ),
  };
}

// One pull request on its own (the listing leaves out commits, additions and the like).
out.single_pull = await section("single pull", async () => {
  const numbers = Array.isArray(out.pulls) ? out.pulls.map((p) => p.number) : [];
  if (!numbers.length) return null;
  const { data } = await octokit.rest.pulls.get({ ...where, pull_number: Math.max(...numbers) });
  return data;
});

// The repository-wide comment listings, page by page through the iterator.
async function pages(method, params) {
  const seen = [];
  let count = 0;
  for await (const { data } of octokit.paginate.iterator(method, params)) {
    count += 1;
    seen.push(...data);
  }
  return { pages: count, items: seen };
}
out.repo_review_comments = await section("repo review comments", () =>
  pages(octokit.rest.pulls.listReviewCommentsForRepo, { ...where, per_page: 100 }),
);
out.repo_issue_comments = await section("repo issue comments", () =>
  pages(octokit.rest.issues.listCommentsForRepo, { ...where, per_page: 100 }),
);

// The issues listing (pull requests appear there as issues with a `pull_request` key), and one issue.
out.issues = await section("issues", () =>
  // Seven a page: the paginator follows the issue listing's Link headers, whatever they page by.
  octokit.paginate(octokit.rest.issues.listForRepo, { ...where, state: "all", per_page: 7 }),
);
out.single_issue = await section("single issue", async () => {
  const numbers = Array.isArray(out.pulls) ? out.pulls.map((p) => p.number) : [];
  if (!numbers.length) return null;
  const { data } = await octokit.rest.issues.get({ ...where, issue_number: Math.min(...numbers) });
  return data;
});

// Search: the paginator unwraps `items`; small pages so it follows search's Link headers too.
out.search = await section("search", async () => {
  const q = `repo:${owner}/${repo} is:pr`;
  const first = await octokit.rest.search.issuesAndPullRequests({ q, per_page: 10 });
  const items = await octokit.paginate(octokit.rest.search.issuesAndPullRequests, { q, per_page: 10 });
  return { total_count: first.data.total_count, incomplete_results: first.data.incomplete_results, items };
});

// GraphQL: pull requests with their reviews (and each review's comments), comments, files and commits;
// every connection that does not fit its first page is followed with its cursor through node(id:).
const PR_FIELDS = `
  id number title isDraft state fullDatabaseId
  author { login }
  reviews(first: 50) { totalCount pageInfo { hasNextPage endCursor } nodes { ...review } }
  comments(first: 100) { totalCount pageInfo { hasNextPage endCursor } nodes { id fullDatabaseId author { login } } }
  files(first: 100) { totalCount pageInfo { hasNextPage endCursor } nodes { path changeType additions deletions } }
  commits(first: 100) { totalCount pageInfo { hasNextPage endCursor } nodes { commit { oid } } }
`;
const REVIEW = `fragment review on PullRequestReview {
  id fullDatabaseId state
  comments(first: 50) { totalCount pageInfo { hasNextPage endCursor } nodes { id fullDatabaseId path } }
}`;
const PULLS_QUERY = `query($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(first: 10, after: $after, orderBy: { field: CREATED_AT, direction: ASC }) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { ${PR_FIELDS} }
    }
  }
  rateLimit { cost remaining }
}
${REVIEW}`;
const MORE = {
  reviews: `nodes { ...review }`,
  comments: `nodes { id fullDatabaseId author { login } }`,
  files: `nodes { path changeType additions deletions }`,
  commits: `nodes { commit { oid } }`,
};

const THREAD_FIELDS = `nodes {
  id path isResolved
  comments(first: 50) { totalCount pageInfo { hasNextPage endCursor } nodes { fullDatabaseId replyTo { fullDatabaseId } } }
}`;

async function rest_of(id, type, field, connection, fields, fragments = "") {
  // Follow one nested connection of node `id` from where its first page stopped.
  let { pageInfo } = connection;
  while (pageInfo.hasNextPage) {
    const data = await graphql(
      `query($id: ID!, $after: String) {
        node(id: $id) { ... on ${type} { ${field}(first: 100, after: $after) { pageInfo { hasNextPage endCursor } ${fields} } } }
      }
      ${fragments}`,
      { id, after: pageInfo.endCursor },
    );
    const page = data.node[field];
    connection.nodes.push(...page.nodes);
    pageInfo = page.pageInfo;
  }
  connection.pageInfo = pageInfo;
}

out.graphql = await section("graphql", async () => {
  const nodes = [];
  const costs = [];
  let after = null;
  let totalCount = null;
  for (;;) {
    const data = await graphql(PULLS_QUERY, { owner, name: repo, after });
    const page = data.repository.pullRequests;
    totalCount = page.totalCount;
    costs.push(data.rateLimit.cost);
    nodes.push(...page.nodes);
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
  }
  for (const pr of nodes) {
    await rest_of(pr.id, "PullRequest", "reviews", pr.reviews, MORE.reviews, REVIEW);
    await rest_of(pr.id, "PullRequest", "comments", pr.comments, MORE.comments);
    await rest_of(pr.id, "PullRequest", "files", pr.files, MORE.files);
    await rest_of(pr.id, "PullRequest", "commits", pr.commits, MORE.commits);
    for (const review of pr.reviews.nodes) {
      await rest_of(review.id, "PullRequestReview", "comments", review.comments, `nodes { id fullDatabaseId path }`);
    }
  }
  // Review comments a second way, as PR-export tools take them: thread by thread.
  for (const pr of nodes) {
    const threads = { pageInfo: { hasNextPage: true, endCursor: null }, nodes: [] };
    await rest_of(pr.id, "PullRequest", "reviewThreads", threads, THREAD_FIELDS);
    for (const thread of threads.nodes) {
      await rest_of(thread.id, "PullRequestReviewThread", "comments", thread.comments, `nodes { fullDatabaseId replyTo { fullDatabaseId } }`);
    }
    pr.reviewThreads = threads.nodes;
  }
  return { totalCount, costs, nodes };
});

// GraphQL search, paged with its cursors.
out.graphql_search = await section("graphql search", async () => {
  const nodes = [];
  let after = null;
  let issueCount = null;
  for (;;) {
    const data = await graphql(
      `query($q: String!, $after: String) {
        search(type: ISSUE, query: $q, first: 10, after: $after) {
          issueCount
          pageInfo { hasNextPage endCursor }
          nodes { __typename ... on PullRequest { id number title } }
        }
      }`,
      { q: `repo:${owner}/${repo} is:pr`, after },
    );
    issueCount = data.search.issueCount;
    nodes.push(...data.search.nodes);
    if (!data.search.pageInfo.hasNextPage) break;
    after = data.search.pageInfo.endCursor;
  }
  return { issueCount, nodes };
});

// What octokit makes of GitHub's errors: a RequestError with the status and GitHub's JSON body.
out.errors = {};
for (const [name, call] of [
  ["missing pull", () => octokit.rest.pulls.get({ ...where, pull_number: 999999 })],
  ["missing repository", () => octokit.rest.pulls.list({ owner, repo: `${repo}-missing` })],
  ["graphql missing repository", () => graphql(`{ repository(owner: "${owner}", name: "${repo}-missing") { id } }`)],
]) {
  try {
    await call();
    out.errors[name] = null;
  } catch (error) {
    out.errors[name] = {
      name: error.name,
      status: error.status ?? null,
      data: error.response?.data ?? null,
      errors: error.errors ?? null,
      partial: error.data ?? null,
    };
  }
}

process.stdout.write(JSON.stringify(out));
process.stdout.write("\n");
