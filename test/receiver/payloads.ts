/** The repository object of GitHub's documented webhook payloads (trimmed), shared by the receiver tests. */
export const githubRepository = {
  id: 186853002,
  name: 'Hello-World',
  full_name: 'Codertocat/Hello-World',
  private: false,
  html_url: 'https://github.com/Codertocat/Hello-World',
  url: 'https://github.com/Codertocat/Hello-World',
  git_url: 'git://github.com/Codertocat/Hello-World.git',
  ssh_url: 'git@github.com:Codertocat/Hello-World.git',
  clone_url: 'https://github.com/Codertocat/Hello-World.git',
  svn_url: 'https://github.com/Codertocat/Hello-World',
  default_branch: 'main',
};
